"""Template filters for showing parameter values."""

from django import template

from ..web import parameters

register = template.Library()


@register.filter
def value(parameter):
    """A parameter value as a person reads it: numbers with up to 6 significant digits."""
    return parameters.formatted(parameter.value)


@register.filter
def parameter_spans(dataset):
    """A dataset's parameters (``shown_parameters``) as compact ``key=value unit`` spans."""
    return parameters.spans(dataset.shown_parameters)
