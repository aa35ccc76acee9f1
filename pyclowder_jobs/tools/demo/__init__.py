"""The demo: tracked extractor replicas on the local broker, and the jobs they ran, told apart."""
