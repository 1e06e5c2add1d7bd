"""From bytes to a lazy libvips image: sniffing, then the one decoder the format needs."""
