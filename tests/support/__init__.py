"""What the tests share: real servers (moto, SeaweedFS), proxies, images and the corpus."""
