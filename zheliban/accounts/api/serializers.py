from rest_framework import serializers

from zheliban.core.api import TextField

from ..models import PersonalToken, User


class MeSerializer(serializers.ModelSerializer):
    id_number = TextField(source="id_number_masked", read_only=True)
    credit_code = TextField(source="credit_code_masked", read_only=True)
    phone = TextField(source="phone_masked", read_only=True)

    class Meta:
        model = User
        fields = ["username", "kind", "real_name", "id_number", "credit_code", "phone"]
        read_only_fields = fields


class RegistrationSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[User.Kind.CITIZEN, User.Kind.ENTERPRISE])
    real_name = TextField(max_length=100)
    id_number = serializers.RegexField(
        r"^\d{17}[\dXx]$", max_length=18, required=False, allow_blank=True
    )
    credit_code = serializers.RegexField(
        r"^[0-9A-HJ-NPQRTUWXY]{18}$", max_length=18, required=False, allow_blank=True
    )
    phone = serializers.RegexField(r"^1\d{10}$", max_length=11)
    password = TextField(write_only=True, style={"input_type": "password"})


class TokenRequestSerializer(serializers.Serializer):
    username = TextField(
        max_length=150,
        help_text="Mobile number (with or without +86, spaces or dashes), resident ID number or "
        "user name (any case).",
    )
    password = TextField(write_only=True, style={"input_type": "password"})
    name = TextField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="A label for the token, e.g. the name of the client that will use it.",
    )


class TokenSerializer(serializers.ModelSerializer):
    """A token just issued: the key is in this answer and in no other."""

    token = TextField(
        help_text="The key: send it as `Authorization: Token <key>`. It is not "
        "stored and cannot be shown again."
    )

    class Meta:
        model = PersonalToken
        fields = ["token", "id", "name", "prefix", "expires_at"]
        read_only_fields = fields


class TokenListSerializer(serializers.ModelSerializer):
    """One of the caller's tokens, without its key."""

    current = serializers.SerializerMethodField(
        help_text="Whether this token authenticated the request."
    )

    class Meta:
        model = PersonalToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "current",
        ]
        read_only_fields = fields

    def get_current(self, token: PersonalToken) -> bool:
        auth = getattr(self.context.get("request"), "auth", None)
        return isinstance(auth, PersonalToken) and auth.pk == token.pk
