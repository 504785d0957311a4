"""The error codes of the accounts app's refusals and validation errors."""

from zheliban.core.errors import ErrorCode


class AccountsErrorCode(ErrorCode):
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"
    CREDIT_CODE_TAKEN = "credit_code_taken"
    ID_NUMBER_TAKEN = "id_number_taken"
    IDENTITY_TAKEN = "identity_taken"
    INVALID_LOGIN = "invalid_login"
    KIND_INVALID = "kind_invalid"
    LOGIN_LOCKED = "login_locked"
    PASSWORD_MISMATCH = "password_mismatch"  # noqa: S105 (an error code, not a password)
    PHONE_TAKEN = "phone_taken"
    REQUIRED = "required"
    SEX_MISMATCH = "sex_mismatch"
