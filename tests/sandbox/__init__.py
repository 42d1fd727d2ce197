"""Tests of the local AWS sandbox, driven through boto3 over HTTP."""
