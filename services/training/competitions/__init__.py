"""Skill competitions: events by track, registration, judged rounds, rankings, and the
肇庆市技术能手 (technical expert) award, announced for credit to certify."""
