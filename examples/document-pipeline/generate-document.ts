import { PDFDocument, StandardFonts } from 'pdf-lib';

export interface SampleClaim {
  claimId: string;
  patient: string;
  amount: number;
}

export interface SampleServiceLine {
  code: string;
  date: string;
  description: string;
  amount: number;
}

export interface SampleDocument {
  headers: Record<string, string>;
  claims: SampleClaim[];
  serviceLines: SampleServiceLine[];
}

/** The claims document the tests and the README use. */
export const SAMPLE_DOCUMENT: SampleDocument = {
  headers: { Provider: 'Acme Medical Group', Payer: 'Blue River Health', Date: '2025-01-15', Form: 'CMS-1500' },
  claims: [
    { claimId: '12345', patient: 'Jane Doe', amount: 120 },
    { claimId: '12346', patient: 'John Smith', amount: 89.5 },
    { claimId: '12347', patient: 'Ana Lopez', amount: 1250.75 },
  ],
  serviceLines: [
    { code: '99213', date: '2025-01-10', description: 'Office visit', amount: 80 },
    { code: '85025', date: '2025-01-10', description: 'Blood count', amount: 40 },
    { code: '71046', date: '2025-01-12', description: 'Chest X-ray', amount: 89.5 },
  ],
};

const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The text lines of each page: a header block and claims on page 1, service lines and a last claim on page 2. */
export function documentLines(doc: SampleDocument = SAMPLE_DOCUMENT): string[][] {
  const claim = (c: SampleClaim) => `Claim ${c.claimId} Patient ${c.patient} Amount ${money(c.amount)}`;
  const [first, ...rest] = doc.claims;
  return [
    [
      'HEALTH INSURANCE CLAIM FORM',
      ...Object.entries(doc.headers).map(([k, v]) => `${k}: ${v}`),
      '',
      ...(first ? [claim(first)] : []),
      ...rest.slice(0, -1).map(claim),
    ],
    [
      'SERVICE LINES',
      ...doc.serviceLines.map((s) => `Service ${s.code} ${s.date} ${s.description} ${money(s.amount)}`),
      '',
      ...rest.slice(-1).map(claim),
      'End of claim form',
    ],
  ];
}

/** A small multi-page PDF with a real text layer (Helvetica, one text run per line). */
export async function generateClaimsPdf(doc: SampleDocument = SAMPLE_DOCUMENT): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle('Claim form');
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of documentLines(doc)) {
    const page = pdf.addPage([612, 792]);
    let y = 740;
    for (const line of lines) {
      if (line) page.drawText(line, { x: 50, y, size: 12, font });
      y -= 20;
    }
  }
  return pdf.save({ useObjectStreams: false });
}
