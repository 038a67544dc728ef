"""The study wing: 打卡, points for 星级党员, today's unit and reading it, 答题, 心得体会 with their
near-copy flags and review, a member's own record, and answers phrased by a model."""
