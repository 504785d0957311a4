"""The error codes of the departments app's refusals and validation errors."""

from zheliban.core.errors import ErrorCode


class DepartmentsErrorCode(ErrorCode):
    FIELD_READONLY = "field_readonly"
    NOT_STAFF = "not_staff"
    REGION_CODE_FORMAT = "region_code_format"
    REGION_PARENT_LEVEL = "region_parent_level"
    ROLE_INVALID = "role_invalid"
    STREETS_FILE_INVALID = "streets_file_invalid"
