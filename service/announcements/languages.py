"""What readers see a language called: its own name (a switcher offers "العربية", not
"Arabic", to someone who reads Arabic)."""

from __future__ import annotations

NATIVE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "es": "Español",
    "fr": "Français",
    "ru": "Русский",
    "zh": "中文",
    "de": "Deutsch",
    "ja": "日本語",
    "pt": "Português",
    "it": "Italiano",
}


def native_name(code: str) -> str:
    """``"ar"`` -> ``"العربية"``; ``"pt-BR"`` -> ``"Português (pt-BR)"``; unknown: the code."""
    primary = code.split("-")[0].lower()
    name = NATIVE_NAMES.get(primary)
    if name is None:
        return code
    return name if primary == code else f"{name} ({code})"
