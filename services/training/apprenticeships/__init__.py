"""New-style enterprise apprenticeship (企业新型学徒制): a company, a mentor (a worker with enough
stars or a 技术能手), an apprentice, a contract period and monthly progress. The apprentice is
enrolled in an apprenticeship-type course, so completion counts like a course (the same rules,
the same EnrollmentCompleted event, the same certificate)."""
