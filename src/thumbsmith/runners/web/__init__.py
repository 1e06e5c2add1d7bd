"""The local web page of ``thumbsmith serve``: routes (app.py), what it shows about a
source (views.py), and the page itself (static/: plain HTML, CSS and JavaScript, no
build step)."""
