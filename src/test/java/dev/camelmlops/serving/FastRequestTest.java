package dev.camelmlops.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FastRequestTest {
    private static FastRequest parse(String json) {
        return FastRequest.parse(new JsonFactory(), json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsRectangularNumbersInOnePass() {
        FastRequest r = parse("{\"signature_name\": \"serving_default\", \"instances\": [[[0.5],[1]],[[2],[3e-1]]]}");
        assertEquals("serving_default", r.signatureName);
        assertTrue(r.row);
        assertArrayEquals(new long[]{2, 2, 1}, r.shape);
        assertArrayEquals(new float[]{0.5f, 1f, 2f, 0.3f}, r.values);
        FastRequest c = parse("{\"inputs\": [1.0, 2.0, 5.0]}");
        assertTrue(!c.row);
        assertArrayEquals(new long[]{3}, c.shape);
    }

    @Test
    void everythingElseTakesTheGeneralPath() {
        assertNull(parse("{\"instances\": [[1, 2], [3]]}"), "ragged");
        assertNull(parse("{\"instances\": [[1, 2], 3]}"), "mixed rank");
        assertNull(parse("{\"instances\": [[\"a\"]]}"), "strings");
        assertNull(parse("{\"instances\": [{\"x\": 1}]}"), "objects");
        assertNull(parse("{\"instances\": [1], \"inputs\": [1]}"), "both");
        assertNull(parse("{\"instances\": []}"), "empty");
        assertNull(parse("{\"signature_name\": \"s\"}"), "neither");
        assertNull(parse("{\"instances\": [1, 2"), "malformed");
        assertNull(parse("[1, 2]"), "not an object");
        assertNull(parse("{\"instances\": [1], \"extra\": 1}"), "unknown field");
    }
}
