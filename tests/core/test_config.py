"""Settings refuse what would make the service unsafe to run."""

import pytest
from pydantic import ValidationError

from nlp_service.core.config import MIN_ADMIN_KEY_LENGTH, Settings


def test_a_short_admin_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least"):
        Settings(admin_key="admin")
    assert Settings(admin_key="k" * MIN_ADMIN_KEY_LENGTH).admin_key.get_secret_value() == "k" * MIN_ADMIN_KEY_LENGTH
