"""The evaluation report as a reader sees it: PNG charts and the HTML page, from its figures."""

from bot.views.report.charts import render_charts
from bot.views.report.html import render_html

__all__ = ["render_charts", "render_html"]
