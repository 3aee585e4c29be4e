"""HTML pages of the simulator: the customer's pay page, the hosted card page, the control page."""

from __future__ import annotations

from typing import Any

from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from portal.settings import get_settings


def template_config() -> TemplateConfig[Any]:
    return TemplateConfig(directory=get_settings().templates_dir, engine=JinjaTemplateEngine)


ROUTES: list[Any] = []
