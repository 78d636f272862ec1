"""The evaluation report as a reader sees it: PNG charts and the HTML page, from its figures."""

from bot.views.report.charts import Chart, draw_charts, render_charts
from bot.views.report.html import render_html

__all__ = ["Chart", "draw_charts", "render_charts", "render_html"]
