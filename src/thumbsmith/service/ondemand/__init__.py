"""On-demand renditions: what a request asks for, and rendering it into the output store."""
