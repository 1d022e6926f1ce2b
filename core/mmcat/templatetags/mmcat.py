"""Template filters for showing parameter values."""

from django import template

register = template.Library()


@register.filter
def value(parameter):
    """A parameter value as a person reads it: numbers with up to 6 significant digits."""
    raw = parameter.value
    if isinstance(raw, float):
        return f"{raw:.6g}"
    if isinstance(raw, list):
        return ", ".join(f"{v:.6g}" for v in raw)
    return raw
