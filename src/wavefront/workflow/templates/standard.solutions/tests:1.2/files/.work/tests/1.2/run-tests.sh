# The todos suite (example solution): its test file is there.
test -f tests/todos.test.ts
