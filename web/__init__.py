"""The review web app: server-rendered pages over services/ flows, at /app/ on the same port as the API.

It knows no Slack (bot/ and web/ never import each other): deciding a draft here calls the same flow a Slack
click calls, so the rules, the audit and the card update are the same.
`web.app.install(app, ctx)` is the one wiring call.
"""
