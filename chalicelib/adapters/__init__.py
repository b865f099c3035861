"""Storage and AWS adapters: PynamoDB models, repositories, KMS, SNS, Secrets Manager."""
