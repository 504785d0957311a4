import logging

import pytest
from django.core.exceptions import ValidationError

from zheliban.core.identity import (
    id_number_check_char,
    mask_middle,
    mask_text,
    uscc_check_char,
    validate_id_number,
    validate_uscc,
)
from zheliban.core.logging import MaskPIIFilter

# Published examples: GB 11643 appendix (11010519491231002X) and a real credit code format.
VALID_ID = "11010519491231002X"
VALID_ID_2 = "330106199003071236"
VALID_USCC = "91350100M000100Y43"


def test_id_check_digit_matches_gb11643_examples():
    assert id_number_check_char("11010519491231002") == "X"
    assert id_number_check_char("33010619900307123") == "6"
    validate_id_number(VALID_ID)
    validate_id_number(VALID_ID_2)
    validate_id_number(VALID_ID.lower())  # a lower-case x is accepted and normalised


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_number_checksum"),
        ("11010519491231002", "id_number_format"),
        ("1101051949123100XX", "id_number_format"),
        ("110105194902300025", "id_number_birth"),  # 30 February
        ("110105299901010020", "id_number_birth"),  # born in the future
        ("440524188001010014", "id_number_birth"),  # right check digit, implausible age
        ("", "id_number_format"),
    ],
)
def test_id_numbers_refused_with_code(value, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(value)
    assert excinfo.value.code == code


def test_uscc_check_char_matches_gb32100():
    assert uscc_check_char(VALID_USCC[:17]) == VALID_USCC[17]
    validate_uscc(VALID_USCC)
    validate_uscc("91330106MA2H00001" + uscc_check_char("91330106MA2H00001"))


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91350100M000100Y44", "uscc_checksum"),
        ("91350100M000100Y4", "uscc_format"),
        ("91350100M000100YI3", "uscc_format"),  # I is not in the alphabet
    ],
)
def test_uscc_refused_with_code(value, code):
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(value)
    assert excinfo.value.code == code


def test_masking():
    assert mask_middle("330106199001011234") == "3301**********1234"
    assert mask_middle("1234") == "****"
    assert mask_middle(None) == ""
    text = f"用户 {VALID_ID} 手机 13812345678 企业 {VALID_USCC} 订单 12345"
    assert mask_text(text) == (
        "用户 1101**********002X 手机 138****5678 企业 9135**********0Y43 订单 12345"
    )


@pytest.mark.parametrize(
    "text",
    [
        # Celery's task timings: the digits after a decimal point are no ID number nor phone
        "Task workflows.deliver_notice[8d30] succeeded in 0.007912345678909451s: 'ok'",
        "succeeded in 0.029512345678908044s",
        "took 0.13812345678s",
        "amount 13812345678.50",
        # inside a longer run of digits or of letters: an id, a token, a hash
        "order 2138123456789",
        "notice 0317beca13812345678ef7d489a7b delivered",
        "token abc110105194912310021xyz",
        "ref ZB13812345678",
    ],
)
def test_numbers_that_are_part_of_something_else_are_left_alone(text):
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("phone=13812345678,", "phone=138****5678,"),
        ("(13812345678)", "(138****5678)"),
        ("手机13812345678。", "手机138****5678。"),
        ("call +8613812345678 now", "call +86138****5678 now"),
        ("call +86 13812345678", "call +86 138****5678"),
        (f"id:{VALID_ID}.", "id:1101**********002X."),
        (f"/users/{VALID_ID_2}/", "/users/3301**********1236/"),
        (f"credit_code={VALID_USCC};", "credit_code=9135**********0Y43;"),
        (f"took 0.5s for {VALID_ID_2}", "took 0.5s for 3301**********1236"),
    ],
)
def test_numbers_that_stand_on_their_own_are_masked(text, masked):
    assert mask_text(text) == masked


def test_a_task_timing_in_a_log_record_is_left_alone():
    record = logging.LogRecord(
        "celery.app.trace",
        logging.INFO,
        __file__,
        1,
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        ({"name": "x", "id": "1", "runtime": 0.002947014999790553, "return_value": True},),
        None,
    )
    assert MaskPIIFilter().filter(record) is True
    assert record.getMessage() == "Task x[1] succeeded in 0.002947014999790553s: True"


def test_log_records_are_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login by %s", (VALID_ID,), None)
    assert MaskPIIFilter().filter(record) is True
    assert record.getMessage() == "login by 1101**********002X"


def test_configured_logging_masks_output():
    logger = logging.getLogger("zheliban.test")
    handler_filters = [
        f for h in logging.getLogger().handlers for f in h.filters if isinstance(f, MaskPIIFilter)
    ]
    assert handler_filters, "the root console handler carries the PII filter"
    record = logger.makeRecord(
        "zheliban.test", logging.WARNING, __file__, 1, "ID %s failed", (VALID_ID_2,), None
    )
    handler_filters[0].filter(record)
    assert VALID_ID_2 not in record.getMessage()
