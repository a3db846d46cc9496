"""ClusterWatch monitoring core: configuration, storage, ingestion, scheduling, pipeline."""
