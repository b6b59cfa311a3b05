// The slice of node-forge 1.x that certificates.ts uses; node-forge ships no types of its own and the
// project adds a single dependency for certificates.
declare module 'node-forge' {
  namespace forge {
    namespace pki {
      type PublicKey = object;
      type PrivateKey = object;
      interface CertificateField {
        name?: string;
        shortName?: string;
        value: string;
      }
      interface Certificate {
        version: number;
        serialNumber: string;
        publicKey: PublicKey;
        validity: { notBefore: Date; notAfter: Date };
        setSubject(attrs: CertificateField[]): void;
        setIssuer(attrs: CertificateField[]): void;
        setExtensions(exts: Record<string, unknown>[]): void;
        sign(key: PrivateKey, md: md.MessageDigest): void;
        generateSubjectKeyIdentifier(): util.ByteStringBuffer;
      }
      function createCertificate(): Certificate;
      function certificateToPem(cert: Certificate): string;
      function certificateFromPem(pem: string): Certificate;
      function privateKeyFromPem(pem: string): PrivateKey;
      function publicKeyFromPem(pem: string): PublicKey;
    }
    namespace md {
      interface MessageDigest {
        digest(): util.ByteStringBuffer;
      }
      namespace sha256 {
        function create(): MessageDigest;
      }
    }
    namespace util {
      interface ByteStringBuffer {
        getBytes(): string;
        toHex(): string;
      }
    }
  }
  export default forge;
}
