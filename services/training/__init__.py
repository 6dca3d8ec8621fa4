"""Training: courses, enrolments, assessment results and completion."""
