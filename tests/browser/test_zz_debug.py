import pytest
pytestmark = pytest.mark.browser

JS = """() => { const W = document.documentElement.clientWidth; const out = [];
for (const el of document.querySelectorAll('body *')) { const r = el.getBoundingClientRect();
 if (r.right > W + 1) out.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + Math.round(r.right)); }
return [document.documentElement.scrollWidth, W, out.slice(0, 15)]; }"""

def test_dbg(new_page, live_server_url):
    page = new_page("ssrf.manager", width=390, height=844)
    for path in ["/console/", "/console/facilities/SSRF/", "/console/facilities/SSRF/calendar/?view=day", "/console/facilities/SSRF/calendar/?view=week"]:
        page.goto(live_server_url + path)
        print(path, page.evaluate(JS))
    assert 0
