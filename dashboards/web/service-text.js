// The HEZO+ service text's priority definitions (shared/seed/hezo-plus-service.txt), quoted in Polish with an
// English rendering, shown beside the priority choice on the desk's and the portal's ticket forms (window.HezoService).
(() => {
  window.HezoService = {
    priorities: [
      {
        id: 'P1',
        name: 'P1 - critical, 24x7',
        en: 'No access to the device - the device does not work. Reaction within 1 h, then updates at least every 1 h; replacement delivered the next business day once the fault is confirmed.',
        pl: 'Brak dostępu do urządzenia - urządzenie nie działa. Wsparcie 24x7 - gwarantowany czas reakcji: 1h.',
      },
      {
        id: 'P2',
        name: 'P2 - unstable, 8x5',
        en: 'The device works unstably, a problem with the solution is suspected; it still works and security is not affected. Reaction within 1 business hour, then updates every 2 h; replacement the next business day once confirmed.',
        pl: 'Urządzenie działa niestabilnie, podejrzenie problemu w funkcjonowaniu rozwiązania, zachowana zdolność działania. Dostęp 8x5 - gwarantowany czas reakcji: 1h.',
      },
      {
        id: 'P3',
        name: 'P3 - question or change, 8x5',
        en: 'Not an operational problem: configuration changes, how something works, technical consultation. Reaction within 4 business hours, then updates every 4 h.',
        pl: 'Zgłoszenie nie jest związane z wystąpieniem problemu eksploatacyjnego, a dotyczy zmian w konfiguracji, wyjaśnienia działania lub konsultacji technicznych. Dostęp 8x5 - gwarantowany czas reakcji: 4h.',
      },
    ],
    returnDays: 7,
    returnText:
      'Send the faulty unit back to the myHEZO team within 7 days, with the prepaid waybill you received; agree the shipment details in this ticket.',
  };
})();
