/**
 * The local pipe's filter: AWS's event-ruler, the engine behind EventBridge, applied to stream
 * records. local/pipe/event-filter.ts drives it over stdin/stdout, one JSON object per line:
 *
 * <pre>
 *   {"configure": ["pattern", ...]} -> {"configured": n}, or for the first pattern event-ruler refuses
 *                                      {"error": "event-ruler's message", "filter": i, "pattern": "pattern"}
 *   {"match": ["record JSON", ...]} -> {"matches": [true, false, ...]}: one per record, in order
 *   anything else, or a failure     -> {"error": "message"}
 * </pre>
 *
 * A record matches when any filter matches it, as Pipes apply FilterCriteria; with no filters
 * every record does, which is how the Pipes API removes filtering.
 */
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import software.amazon.event.ruler.Machine;

public final class EventFilter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Machine machine;
    private int filterCount;

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        EventFilter filter = new EventFilter();
        // The client closes stdin to end the conversation.
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) continue;
            out.write(JSON.writeValueAsString(filter.answer(line)));
            out.newLine();
            out.flush();
        }
    }

    private ObjectNode answer(String line) {
        try {
            JsonNode request = JSON.readTree(line);
            if (request.has("configure")) return configure(request.get("configure"));
            if (request.has("match")) return match(request.get("match"));
            return error("unknown request: expected {\"configure\": [...]} or {\"match\": [...]}");
        } catch (Exception e) {
            return error(String.valueOf(e.getMessage()));
        }
    }

    private ObjectNode configure(JsonNode patterns) {
        Machine next = Machine.builder().build();
        for (int i = 0; i < patterns.size(); i++) {
            String pattern = patterns.get(i).asText();
            try {
                // The rule's name is the filter's index; a record matches if any rule does.
                next.addRule(String.valueOf(i), pattern);
            } catch (Exception e) {
                return error(String.valueOf(e.getMessage())).put("filter", i).put("pattern", pattern);
            }
        }
        machine = next;
        filterCount = patterns.size();
        return JSON.createObjectNode().put("configured", filterCount);
    }

    private ObjectNode match(JsonNode records) throws Exception {
        if (machine == null) return error("configure the filters before matching");
        ObjectNode answer = JSON.createObjectNode();
        ArrayNode matches = answer.putArray("matches");
        for (JsonNode record : records) {
            // Each record arrives as JSON text so that event-ruler parses it itself, as it parses an event EventBridge hands it.
            matches.add(filterCount == 0 || !machine.rulesForJSONEvent(record.asText()).isEmpty());
        }
        return answer;
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }
}
