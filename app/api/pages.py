"""The HTML pages: Jinja2 templates around the ES modules in static/, in the reader's language.

The language is chosen here so the server writes the right ``<html lang>``:
the ``lang`` cookie (set by the header's switch) wins, else the browser's
Accept-Language by q-value, else English. The texts themselves are filled in
by the browser from the message catalogues in static/js.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app import __version__
from app.lessons import BY_SLUG, LESSONS, neighbours

router = APIRouter(tags=["pages"], include_in_schema=False)

HTML_LANG = {"en": "en", "zh": "zh-CN"}  # our locales -> their BCP 47 tags
PAGES = {"/": "editor.html", "/train": "train.html", "/net": "net.html"}


def negotiate(accept_language: str) -> str:
    """The supported locale the browser ranks highest (ties go to the first listed), else en."""
    best, best_q = "en", 0.0
    for part in accept_language.split(","):
        tag, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        primary = tag.lower().split("-")[0]
        if primary in HTML_LANG and q > best_q:
            best, best_q = primary, q
    return best


def page_language(request: Request) -> str:
    cookie = request.cookies.get("lang")
    return cookie if cookie in HTML_LANG else negotiate(request.headers.get("accept-language", "")[:1000])


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = page_language(request)
    response = request.app.state.templates.TemplateResponse(
        request, template, {"version": __version__, "lang": lang, "html_lang": HTML_LANG[lang], **context},
        status_code=status_code)
    response.headers["Content-Language"] = HTML_LANG[lang]
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def _page(template: str):  # noqa: ANN202
    async def page(request: Request) -> HTMLResponse:
        return render(request, template)

    return page


for path, template in PAGES.items():
    router.add_api_route(path, _page(template), methods=["GET"], response_class=HTMLResponse, name=template.removesuffix(".html"))


@router.get("/docs", response_class=HTMLResponse, name="docs")
async def docs(request: Request) -> HTMLResponse:
    """The OpenAPI document in Swagger UI, served from static/vendor: no CDN, no inline script."""
    return render(request, "docs.html", openapi_url=request.app.openapi_url)


def _toc() -> list[dict[str, str]]:
    return [{"slug": lesson.slug, "section": lesson.section} for lesson in LESSONS]


@router.get("/lessons", response_class=HTMLResponse, name="lessons")
async def lessons(request: Request) -> HTMLResponse:
    """The table of contents."""
    return render(request, "lessons.html", toc=_toc())


@router.get("/lessons/{slug}", response_class=HTMLResponse, name="lesson")
async def lesson(slug: str, request: Request) -> HTMLResponse:
    """One lesson at its stable address; an unknown one gets the table of contents with a 404."""
    found = BY_SLUG.get(slug)
    if found is None:
        return render(request, "lessons.html", status_code=404, toc=_toc(), missing=slug[:80])
    before, after = neighbours(slug)
    number = [item.slug for item in LESSONS].index(slug) + 1
    return render(request, "lesson.html", toc=_toc(), lesson=found, number=number, total=len(LESSONS),
                  prev=before, next=after, spec=json.dumps(found.to_json(), separators=(",", ":")))
