"""The web chat: `page.py` lays out the Gradio page, `service.py` does what its events do, `render.py`
builds its HTML, `sources.py` groups citations into source cards, `state.py` keeps chats in the browser,
`server.py` checks, guards and serves it; `assets/` holds the page's script and style (package data).
Nothing below `web/` imports it: the CLI's plain text comes from `bot/answer_text.py`."""
