"""The brand's public content (品牌宣传推广计划): typical cases and model workers with their
nominations, the 技术能手 roll, the 百户十强 companies and the county sub-brands."""
