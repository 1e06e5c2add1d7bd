"""Build tooling (``thumbsmith package``). Never shipped inside the Lambda zip."""
