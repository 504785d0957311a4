from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from zheliban.core.identity import normalize_id_number

from .models import User


class LoginBackend(ModelBackend):
    """Log in with a user name, a mobile number or a resident ID number."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        login = username.strip()
        user = (
            User.objects.filter(
                Q(username=login) | Q(phone=login) | Q(id_number=normalize_id_number(login))
            )
            .order_by("pk")
            .first()
        )
        if user is None:
            User().set_password(password)  # same work as a real check, so timing reveals nothing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
