"""Registry: villages (Kemendagri codes), households, members and consent."""
