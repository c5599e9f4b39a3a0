from shared.money import rupiah_amount


def test_amounts_round_half_up_not_to_even() -> None:
    assert rupiah_amount(2.5, 1) == 3  # round() would give 2
    assert rupiah_amount(0.5, 3) == 2  # 1.5 -> 2
    assert rupiah_amount(1.25, 10) == 13  # 12.5 -> 13
    assert rupiah_amount(3, 15_000) == 45_000
    assert rupiah_amount(0.1, 3) == 0  # 0.3 -> 0, no float noise
