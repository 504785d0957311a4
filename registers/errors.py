from zheliban.core.errors import ErrorCode


class RegistersErrorCode(ErrorCode):
    CORRECTION_DUPLICATE = "correction_duplicate"
    CORRECTION_FIELD = "correction_field"
    CORRECTION_NOT_YOURS = "correction_not_yours"
    CORRECTION_SAME = "correction_same"
    IMPORT_FORMAT = "import_format"
    IMPORT_ROW = "import_row"
    OWNER_KIND = "owner_kind"
    RECORD_INVALID = "record_invalid"
