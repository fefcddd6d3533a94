/**
 * Common US given-name diminutives → the formal name they stand for, so "Bob Smith" and
 * "Robert Smith" compare equal. Keys and values are name keys (lower-case letters).
 */
const GROUPS: Record<string, string> = {
  robert: "bob bobby rob robby robbie bert",
  william: "bill billy will willy liam",
  richard: "rick ricky dick rich richie",
  james: "jim jimmy jamie",
  john: "jack johnny jon",
  joseph: "joe joey",
  michael: "mike mikey mick",
  thomas: "tom tommy",
  charles: "charlie chuck chas",
  christopher: "chris kit",
  daniel: "dan danny",
  david: "dave davey",
  edward: "ed eddie ted ned",
  elizabeth: "liz beth betty eliza lizzie libby",
  margaret: "maggie meg peggy marge",
  patricia: "pat patty trish tricia",
  jennifer: "jen jenny",
  katherine: "kate kathy katie kat",
  catherine: "cathy cate",
  susan: "sue susie",
  barbara: "barb babs",
  deborah: "deb debbie",
  rebecca: "becky becca",
  jessica: "jess jessie",
  anthony: "tony",
  andrew: "andy drew",
  matthew: "matt",
  nicholas: "nick nicky",
  benjamin: "ben benny",
  samuel: "sam sammy",
  alexander: "alex xander",
  jonathan: "jon jonny",
  steven: "steve",
  stephen: "steve",
  timothy: "tim timmy",
  kenneth: "ken kenny",
  ronald: "ron ronnie",
  donald: "don donnie",
  gregory: "greg",
  lawrence: "larry",
  gerald: "jerry",
  raymond: "ray",
  joshua: "josh",
  patrick: "pat paddy",
  peter: "pete",
  philip: "phil",
  frederick: "fred freddie",
  francis: "frank",
  franklin: "frank",
  victoria: "vicky tori",
  christina: "chris tina",
  christine: "chris chrissy",
  alexandra: "alex sandra lexi",
  samantha: "sam",
  victor: "vic",
  vincent: "vince",
  zachary: "zach zack",
  nathaniel: "nate nat",
  nathan: "nate",
  jacob: "jake",
  abigail: "abby",
  allison: "allie",
  amanda: "mandy",
  angela: "angie",
  cynthia: "cindy",
  dorothy: "dot dottie",
  eleanor: "ellie nora",
  emily: "em emmy",
  florence: "flo",
  gabrielle: "gabby",
  helen: "nell",
  jacqueline: "jackie",
  judith: "judy",
  kimberly: "kim",
  madeline: "maddie",
  melissa: "missy mel",
  pamela: "pam",
  sophia: "sophie",
  teresa: "terry tess",
  theresa: "terry tess",
  valerie: "val",
  virginia: "ginny",
  carlos: "charlie",
  maria: "mia",
  jose: "pepe",
  luis: "lucho",
  francisco: "paco pancho",
  guillermo: "memo",
  alejandro: "alex ale",
};

const FORMAL = new Map<string, string>();
/** Every formal name a nickname can stand for ("chris" → christopher, christina, christine). */
const FORMALS = new Map<string, string[]>();
for (const [formal, nicks] of Object.entries(GROUPS)) {
  FORMAL.set(formal, formal);
  for (const n of nicks.split(" ")) {
    if (!FORMAL.has(n)) FORMAL.set(n, formal);
    const all = FORMALS.get(n);
    if (all) {
      if (!all.includes(formal)) all.push(formal);
    } else FORMALS.set(n, [formal]);
  }
}
for (const [n, all] of FORMALS) if (all.length === 1 && !GROUPS[n]) FORMALS.delete(n);

/** The formal given name for a nickname key ("bob" → "robert"); the key itself otherwise. */
export function formalName(key: string): string {
  return FORMAL.get(key) ?? key;
}

/** The other formal names an ambiguous nickname may stand for, beyond formalName's ("steve": stephen). */
export function otherFormalNames(key: string): readonly string[] {
  const all = FORMALS.get(key);
  if (!all) return NONE;
  const first = formalName(key);
  return all.filter((f) => f !== first);
}
const NONE: readonly string[] = [];

/** Whether a key is a formal name of the table: two different ones are two names, not one with a typo (Donald, Ronald). */
export function isFormalName(key: string): boolean {
  return Object.hasOwn(GROUPS, key);
}

/** The nicknames of a formal name (for generating realistic variants). */
export function nicknamesOf(formal: string): string[] {
  return GROUPS[formal]?.split(" ") ?? [];
}
