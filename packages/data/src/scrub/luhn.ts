/** True when `digits` (only 0-9) passes the Luhn (mod 10) check. */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * The card scheme a 13-19 digit number belongs to by its issuer identification number (IIN) and
 * length, or null when no known scheme issues such numbers.
 */
export function cardScheme(digits: string): string | null {
  const n = digits.length;
  if (n < 13 || n > 19) return null;
  const p1 = digits.charCodeAt(0) - 48;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  const len16to19 = n >= 16 && n <= 19;
  if (p1 === 4) return n === 13 || n === 16 || n === 19 ? 'visa' : null;
  if (p2 >= 51 && p2 <= 55) return n === 16 ? 'mastercard' : null;
  if (p4 >= 2221 && p4 <= 2720) return n === 16 ? 'mastercard' : null;
  if (p4 >= 2200 && p4 <= 2204) return len16to19 ? 'mir' : null;
  if (p2 === 34 || p2 === 37) return n === 15 ? 'amex' : null;
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) {
    return len16to19 ? 'discover' : null;
  }
  if (p4 >= 3528 && p4 <= 3589) return len16to19 ? 'jcb' : null;
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) {
    return n >= 14 && n <= 19 ? 'diners' : null;
  }
  if (p2 === 62 || p2 === 81) return len16to19 ? 'unionpay' : null;
  if (p2 === 60 || p2 === 82 || p3 === 508) return n === 16 ? 'rupay' : null;
  if (p2 === 50 || (p2 >= 56 && p2 <= 58) || p4 === 6304 || p4 === 6759 || (p4 >= 6761 && p4 <= 6763)) {
    return n >= 13 && n <= 19 ? 'maestro' : null;
  }
  return null;
}

/** A payment card number: a known scheme's IIN and length, and Luhn-valid. */
export function isCardNumber(digits: string): boolean {
  return cardScheme(digits) !== null && luhnValid(digits);
}
