"""The console: web pages for moderators (the live queue) and room operators (rules, lists,
bans, keys), served by the same app under ``/console``.

The pages are shells: every figure on them comes from the public ``/v1`` API, called by the
browser with the user's own key in the API's ``Authorization`` header (held in the tab's
``sessionStorage``, never in a URL or a cookie, so there is no CSRF surface and no key in
any log). The console has no route of its own that reads or changes state.
"""
