# The auth suite (example solution): its test file is there.
test -f tests/auth.test.ts
