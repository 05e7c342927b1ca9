"""Email subscribers: double opt-in sign-up, managing and leaving, and the mail they get.

``lifecycle`` holds what a subscriber does (subscribe, confirm, change, unsubscribe);
``delivery`` sends mailings exactly once per subscriber; ``digests`` decides when a daily or
weekly digest is due; ``tokens`` signs the links in every email.
"""
