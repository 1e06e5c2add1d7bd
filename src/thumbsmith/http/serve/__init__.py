"""The local web page of ``thumbsmith serve``: routes (app.py), what it shows about a
source (views.py), what the watch reported (activity.py), and the page itself (static/:
plain HTML, CSS and JavaScript, no build step)."""
