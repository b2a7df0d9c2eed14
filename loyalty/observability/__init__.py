"""Request ids, JSON request logs and Prometheus metrics."""
