from django.contrib.auth.backends import ModelBackend

from .models import User
from .selectors import user_for_login


class LoginBackend(ModelBackend):
    """Log in with a user name, a mobile number or a resident ID number, however spelled
    (``selectors.login_name_parse``)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        user = user_for_login(login=username)
        if user is None:
            User().set_password(password)  # same work as a real check, so timing reveals nothing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
