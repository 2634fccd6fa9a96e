package io.streamscore.flink.functions;

import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.HexFormat;

/**
 * A keyed pseudonym of an identifier: the first 32 hex digits (128 bits) of HMAC-SHA256(key, id).
 * Outputs that carry {@code pseudonymise(customer_id)} let readers join and count by card without
 * learning its id; only a holder of the key can tell which id a pseudonym stands for.
 *
 * <p>The key is the content of the file named by the job parameter
 * {@code streamscore.pseudonym.key-file}, read when the function opens: it is in neither the job
 * graph nor the logs. Python computes the same value ({@code streaming.pseudonyms}).
 */
public class Pseudonymise extends ScalarFunction {

    static final String KEY_FILE_PARAMETER = "streamscore.pseudonym.key-file";
    private static final String ALGORITHM = "HmacSHA256";

    private transient Mac mac;

    @Override
    public void open(FunctionContext context) throws Exception {
        String keyFile = context.getJobParameter(KEY_FILE_PARAMETER, "");
        if (keyFile.isEmpty()) {
            throw new IllegalStateException("job parameter " + KEY_FILE_PARAMETER + " names no key file");
        }
        mac = keyed(Files.readAllBytes(Path.of(keyFile)));
    }

    public String eval(String id) {
        return id == null ? null : pseudonym(mac, id);
    }

    static Mac keyed(byte[] key) throws GeneralSecurityException {
        if (key.length == 0) {
            throw new GeneralSecurityException("the pseudonym key file is empty");
        }
        Mac mac = Mac.getInstance(ALGORITHM);
        mac.init(new SecretKeySpec(key, ALGORITHM));
        return mac;
    }

    static String pseudonym(Mac mac, String id) {
        byte[] digest = mac.doFinal(id.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest, 0, 16);
    }
}
