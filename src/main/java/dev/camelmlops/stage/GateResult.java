package dev.camelmlops.stage;

/** One quality gate's verdict, with a message that carries the numbers. */
public record GateResult(String name, boolean passed, String message) {
}
