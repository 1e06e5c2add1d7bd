"""The HTTP apps, one folder each, over one server start-up (:mod:`.server`) and shared
middleware (:mod:`.middleware`): ``serve/`` (the local page), ``receive/`` (store
webhooks). They parse requests and call the service; no imaging here."""
