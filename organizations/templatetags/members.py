from django import template

from ..models import member_name

register = template.Library()

# {{ record.owner|member_name|default:"—" }}; the name is auto-escaped like any other text.
register.filter("member_name", member_name)
