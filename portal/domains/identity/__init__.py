"""Identity: businesses, users, sessions, roles and rights, login and enrolment, API keys, e-mail."""
