package io.streamscore.flink.functions;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PseudonymiseTest {

    @Test
    void pseudonymIsTheHmacSha256OfRfc4231CaseTwoCutTo128Bits() throws Exception {
        var mac = Pseudonymise.keyed("Jefe".getBytes(StandardCharsets.UTF_8));
        assertEquals("5bdcc146bf60754e6a042426089575c7", Pseudonymise.pseudonym(mac, "what do ya want for nothing?"));
    }

    @Test
    void theSameIdUnderAnotherKeyGetsAnotherPseudonym() throws Exception {
        var one = Pseudonymise.keyed("key-one".getBytes(StandardCharsets.UTF_8));
        var two = Pseudonymise.keyed("key-two".getBytes(StandardCharsets.UTF_8));
        assertEquals(Pseudonymise.pseudonym(one, "4711"), Pseudonymise.pseudonym(one, "4711"));
        assertNotEquals(Pseudonymise.pseudonym(one, "4711"), Pseudonymise.pseudonym(two, "4711"));
    }

    @Test
    void anEmptyKeyIsRefused() {
        assertThrows(GeneralSecurityException.class, () -> Pseudonymise.keyed(new byte[0]));
    }
}
