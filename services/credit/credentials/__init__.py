"""Verifiable credentials: the home-service card (居家上门服务证), its eligibility policy and
accident insurance, and the W3C VC 2.0 documents (eddsa-jcs-2022 Data Integrity proofs, Bitstring
Status List) for cards and training certificates."""
